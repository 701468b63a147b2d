-- The append-only event log. {{schema}} is replaced by the configured schema, quoted.
CREATE TABLE {{schema}}.events (
    position    bigint      PRIMARY KEY,
    id          uuid        NOT NULL UNIQUE,
    stream      text        NOT NULL,
    version     bigint      NOT NULL,
    type        text        NOT NULL,
    -- json, not jsonb: the exact bytes written are the bytes read (hashes and rebuilds depend on it).
    data        json        NOT NULL,
    metadata    json,
    recorded_at timestamptz NOT NULL,
    UNIQUE (stream, version)
);

CREATE FUNCTION {{schema}}.events_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'streamledger events are immutable: % on %.% is not allowed', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'append a compensating event instead';
END
$$;

CREATE TRIGGER events_no_update_or_delete BEFORE UPDATE OR DELETE ON {{schema}}.events
    FOR EACH ROW EXECUTE FUNCTION {{schema}}.events_are_immutable();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON {{schema}}.events
    FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.events_are_immutable();

REVOKE UPDATE, DELETE, TRUNCATE ON {{schema}}.events FROM PUBLIC;
