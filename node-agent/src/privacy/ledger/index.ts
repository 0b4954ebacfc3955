export { PrivacyLedger, type PrivacyLedgerOptions, type SpendRequest, type LedgerSummary, type SpendOnceResult } from './privacy-ledger.js';
export { LEDGER_FORMAT, type LedgerEntry, type PrivacyBudget } from './ledger-file.js';
export { spentOf } from './compose-spend.js';
export { withFileLock, type FileLockOptions } from './file-lock.js';
export { writeFileAtomic } from './atomic-write.js';
