"""Payment batches: the ledger's reimbursable lines priced, paid and turned into a SEPA file."""
