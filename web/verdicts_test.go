package web

// routesOnlyVerdicts only makes NewServer register the verdict routes.
type routesOnlyVerdicts struct{ VerdictStore }

// routesOnlySummons only makes NewServer register the summons routes.
type routesOnlySummons struct{ SummonsStore }

// routesOnlyDisputes only makes NewServer register the disputes' routes.
type routesOnlyDisputes struct{ DisputeStore }

// routesOnlyRegister only makes NewServer register the register's routes.
type routesOnlyRegister struct{ RegisterStore }
