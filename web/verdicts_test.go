package web

// routesOnlyVerdicts only makes NewServer register the verdict routes.
type routesOnlyVerdicts struct{ VerdictStore }

// routesOnlySummons only makes NewServer register the summons routes.
type routesOnlySummons struct{ SummonsStore }
