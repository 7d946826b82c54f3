"""Scale-out: which instance of a service owns which partition. `assignment` (pure) says who
should own what; `member` heartbeats membership and holds partition leases in JetStream KV
(through `kapacitor.bus.ttl_kv`)."""

__all__: list[str] = []  # a namespace: import from its modules
