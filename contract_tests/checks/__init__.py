"""The contract checks: every module here is imported by `registry.discover()`, and each
function marked with `@check` in it runs; a new module needs no other edit."""
