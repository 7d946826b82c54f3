"""The API's routes, one module per resource; each exports `router`."""
