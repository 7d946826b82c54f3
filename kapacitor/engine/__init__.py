"""The plugin engine: plan a script into column operators, run them over point batches.

    program = build_program(checked)          # plan.py; checked = compile_script(source)
    runtime = PluginRuntime("cpu", program, clock)
    result = runtime.process(batch, instance_idx, instance_keys, instance_tags)
    evaluation = evaluate(program, batch, instance_idx, instance_keys, instance_tags)

See docs/engine.md for the exact semantics.
"""

from kapacitor.engine.events import AlertEvent
from kapacitor.engine.plan import Program, build_program
from kapacitor.engine.runtime import (
    Evaluation,
    PluginRuntime,
    ProcessResult,
    RuntimeStats,
    evaluate,
)

__all__ = [
    "AlertEvent",
    "Evaluation",
    "PluginRuntime",
    "ProcessResult",
    "Program",
    "RuntimeStats",
    "build_program",
    "evaluate",
]
