"""Running the results recipes (simulations/recipes/): each seed a real simulation, one result row each.

This is the part of the results pipeline that trains; :mod:`fedflm.report` only
reads run directories and result rows.
"""
