"""The lifecycle of a spool: every action, Estado_Detalle, a whole life, races."""
