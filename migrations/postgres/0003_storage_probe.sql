-- Readiness writes and deletes a row here after a write failed for want of space, to learn
-- whether the disk has room again.
CREATE TABLE storage_probe (
    id BIGSERIAL PRIMARY KEY,
    filler BYTEA
);
