"""`kapacitord`: the supervisor of the embedded NATS server and the service processes, and the
lifecycle shared by every service process."""
