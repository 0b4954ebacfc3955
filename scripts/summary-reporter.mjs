// Prints the plain closing line `N passed, N failed` (and skipped) that CI reads, after the slowest
// suites with their wall-clock times (where a run's time went, for keeping CI within its budget).
export default class SummaryReporter {
  onRunComplete(_contexts, results) {
    const timed = results.testResults
      .map((r) => ({ path: r.testFilePath.replace(`${process.cwd()}/`, ''), seconds: (r.perfStats.end - r.perfStats.start) / 1000 }))
      .filter((r) => Number.isFinite(r.seconds))
      .sort((a, b) => b.seconds - a.seconds)
      .slice(0, 15);
    if (timed.length > 0) {
      process.stdout.write(`\nslowest suites (wall-clock s):\n${timed.map((r) => `  ${r.seconds.toFixed(1).padStart(7)}  ${r.path}`).join('\n')}\n`);
    }
    const skipped = results.numPendingTests + results.numTodoTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    process.stdout.write(`\n${results.numPassedTests} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
