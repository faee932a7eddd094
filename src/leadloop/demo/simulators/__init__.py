"""Local HTTP stand-ins for the platforms leadloop extracts from (used by tests and the demo).

One module per platform (`leadloop.demo.simulators.<source>`), each built on `leadloop.demo.simulators.base`, plus
`wecom_robot` (the alert receiver). Nothing in `src/leadloop/extract/` imports them.
"""
