CREATE TABLE fine (id integer);

ALTER TABLE customers
  ADD COLUMN;

SELEC 1;
