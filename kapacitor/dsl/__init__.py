"""The plugin language: tokens -> AST -> check -> plan -> engine, one module per stage."""

__all__: list[str] = []  # a namespace: import from its modules
