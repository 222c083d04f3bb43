package web

// routesOnlyVerdicts only makes NewServer register the verdict routes.
type routesOnlyVerdicts struct{ VerdictStore }
