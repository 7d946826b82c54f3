"""The matcher's domain logic: where clauses, their vectorized predicates, and plugin routing.

No I/O here: the matcher service feeds PointBatches in and publishes what `route` hands back.
"""

from kapacitor.match.predicate import Predicate, compile_where
from kapacitor.match.router import PluginRoute, instance_keys, route
from kapacitor.match.where import WhereExpr, parse_where

__all__ = [
    "PluginRoute",
    "Predicate",
    "WhereExpr",
    "compile_where",
    "instance_keys",
    "parse_where",
    "route",
]
