-- migrations/20250127_add_processing_status.sql
BEGIN;

-- Add new enum value (backward compatible)
ALTER TYPE queue_status_enum ADD VALUE IF NOT EXISTS 'processing';

-- Add any new columns with defaults
ALTER TABLE customers 
ADD COLUMN IF NOT EXISTS processing_started_at TIMESTAMP DEFAULT NULL;

-- Create indexes for performance
CREATE INDEX IF NOT EXISTS idx_customers_processing_status 
ON customers(queue_status) WHERE queue_status = 'processing';

COMMIT;
