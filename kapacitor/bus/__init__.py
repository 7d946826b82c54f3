"""Everything that talks to NATS: subject names, stream declarations, the `Bus` seam services
use (`interface`) and its NATS implementation (`client.NatsBus`), the stores on JetStream, and
the embedded server. Only this package imports `nats`."""

__all__: list[str] = []  # a namespace: import from its modules
