export {
  RELEASE_STATEMENT_TYP, RELEASE_STATEMENT_MAX_BYTES, signReleaseStatement, verifyReleaseStatement, validateReleaseStatementClaims,
  type ReleaseStatementClaims, type ReleaseStep,
} from './statement.js';
