"""The plugin language: tokens -> AST -> check -> plan -> engine, one module per stage."""
