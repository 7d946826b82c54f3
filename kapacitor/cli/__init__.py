"""`kapacitor`: the command line over the HTTP API."""
