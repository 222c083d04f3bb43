package routing

// ParseCoordForTest exposes the CSV coordinate parser to the tests.
var ParseCoordForTest = parseCoord
