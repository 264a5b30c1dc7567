"""projection.switches."""
