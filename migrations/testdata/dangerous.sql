-- One statement per dangerous rule; tests assert each rule's line.
ALTER TABLE customers DROP COLUMN notes;
DROP TABLE queue_history;
DROP VIEW active_customers;
TRUNCATE customers;
ALTER TABLE customers RENAME TO clients;
ALTER TABLE customers RENAME COLUMN name TO full_name;
ALTER TYPE queue_status_enum RENAME TO queue_state;
ALTER INDEX idx_customers_status RENAME TO idx_status;
ALTER TYPE queue_status_enum RENAME VALUE 'serving' TO 'in_service';
ALTER TYPE queue_status_enum DROP VALUE 'cancelled';
ALTER TABLE customers ALTER COLUMN token_number TYPE bigint;
ALTER TABLE customers ALTER COLUMN email SET NOT NULL;

ALTER TABLE customers
  ADD COLUMN priority integer NOT NULL;
