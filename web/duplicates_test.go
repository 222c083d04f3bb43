package web

// routesOnlyDuplicates only makes NewServer register the duplicate routes.
type routesOnlyDuplicates struct{ DuplicateStore }
