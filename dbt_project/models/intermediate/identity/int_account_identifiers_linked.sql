-- Edges of the account graph: a record and each usable company identifier it carries (CRM account
-- ids, normalised names, USCC, corporate e-mail domains). Companies are its connected components.
{{ identity_graph_edges('account') }}
