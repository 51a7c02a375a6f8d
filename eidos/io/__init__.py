"""The edges: reading inputs, writing outputs, YAML/JSON, embedded resources."""
