// Known bugs the deterministic simulator must be able to catch (issue 5, "honesty checks"; issue 8 adds
// (d)–(h)). Each switch re-creates one way real terminal apps lose money; the engine keeps a minimal,
// commented hook for each. Only test harnesses set them (through `TerminalEngineDeps.faults`); no CLI
// option, config key or default reaches them, so a production engine always runs with all of them off.
export interface PlantedBugs {
  /** (a) Send the request first and journal the intent after the reply: no durable write-ahead. */
  sendBeforeWriteAhead?: boolean;
  /** (b) After the policy's attempts, drop the reversal from the open set instead of marking it stuck. */
  deleteReversalAfterRetries?: boolean;
  /** (c) After a restart, hand out the last allocated STAN again (a counter that lags the journal). */
  reuseStanAfterCrash?: boolean;
  /** (d) A device failure after the host approved (GEN AC2 unanswered) is reported as failed, no reversal raised. */
  swallowFailureAfterApproval?: boolean;
  /** (e) Reversal attempt counts kept only in memory: after a restart the repeat goes out as a first 0400. */
  reversalAttemptsInMemory?: boolean;
  /** (f) The intent is appended without waiting for it to be durable before the request is sent. */
  lazyIntent?: boolean;
  /** (g) A late 0210 approval after the reversal was raised turns the sale back into approved. */
  lateReplyRevivesSale?: boolean;
  /** (h) A 0410 with any response code clears the reversal (not only 00 or 25). */
  clearOnAnyReversalAnswer?: boolean;
}
