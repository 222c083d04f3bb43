// Prints the console's WGS84 → GCJ-02 conversion (src/gcj02.js) of the
// points given as a JSON array of [lon, lat] in argv[2], as a JSON array,
// for TestConsoleGCJ02 to compare with geo.WGS84ToGCJ02.
import { wgs84ToGcj02 } from '../src/gcj02.js';

console.log(JSON.stringify(JSON.parse(process.argv[2]).map(([lon, lat]) => wgs84ToGcj02(lon, lat))));
