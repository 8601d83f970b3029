// What the benchmark runner drives. One subject = one way of making a sale durable (this project's
// journal, the raw-disk floor, SQLite); the runner times only sale(), never open() or close().

export interface BenchPlan {
  /** Sales the coming round will make, so a subject can preallocate before the clock starts. */
  sales: number;
}

export interface BenchSubject {
  readonly name: string;
  /** One line on what exactly the subject does per sale, printed next to its figures. */
  readonly detail: string;
  open(dir: string, plan: BenchPlan): Promise<void>;
  /** One sale: intent record durable, outcome record durable, printed record lazy. */
  sale(i: number): Promise<void>;
  close(): Promise<void>;
  /** fdatasync/fsync calls since open, when the subject can count them (SQLite's own cannot be). */
  syncs?(): number;
}

/** Boot figures for one journal history size, produced by the journal's own boot bench. */
export interface BootResult {
  subject: string;
  history_records: number;
  open_records: number;
  boot_ms: number;
  heap_mb: number;
}
