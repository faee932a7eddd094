-- A stable customer_id for every node of the person graph. The component's anchor is its
-- earliest-seen identifier (ties: the smallest), so data that does not touch a person never changes
-- their id; when two persons merge, the earlier anchor wins and the change is logged by
-- int_customer_id_assignments_logged.
{{ stable_ids('int_persons_stitched', 'person_key', 'person', 'cus_') }}
