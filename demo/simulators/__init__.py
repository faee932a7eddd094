"""Local HTTP stand-ins for the platforms leadloop extracts from (used by tests and the demo).

One module per platform (`demo.simulators.<source>`), each built on `demo.simulators.base`, plus
`wecom_robot` (the alert receiver). Nothing in `extract/` imports them.
"""
