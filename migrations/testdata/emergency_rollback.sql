-- Only if absolutely necessary
BEGIN;

-- Backup affected data first
CREATE TABLE customers_backup AS SELECT * FROM customers;

-- Remove problematic enum value (dangerous!)
-- This would require application downtime
ALTER TYPE queue_status_enum DROP VALUE 'processing';

COMMIT;
