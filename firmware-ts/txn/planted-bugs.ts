// Known bugs the deterministic simulator must be able to catch (issue 5, "honesty checks"). Each switch
// re-creates one way real terminal apps lose money; the engine keeps a minimal, commented hook for each.
// Only test harnesses set them (through `TerminalEngineDeps.faults`); no CLI option, config key or default
// reaches them, so a production engine always runs with all of them off.
export interface PlantedBugs {
  /** (a) Send the request first and journal the intent after the reply: no durable write-ahead. */
  sendBeforeWriteAhead?: boolean;
  /** (b) After the policy's attempts, drop the reversal from the open set instead of marking it stuck. */
  deleteReversalAfterRetries?: boolean;
  /** (c) After a restart, hand out the last allocated STAN again (a counter that lags the journal). */
  reuseStanAfterCrash?: boolean;
}
