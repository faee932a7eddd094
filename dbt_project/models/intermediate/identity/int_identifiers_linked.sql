-- Edges of the person graph: a record and each usable identifier it carries (phones, e-mails,
-- WeChat unionids, Sensors ids, the CRM or WeCom records it points at), plus the record itself so a
-- record with nothing usable is still a person of its own. Persons are its connected components.
{{ identity_graph_edges('person') }}
