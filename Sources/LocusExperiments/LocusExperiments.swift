// LocusExperiments: the experiments Locus runs, as a library a Swift program can call without
// the `locus` command (issue 14 item 4, issue 15 item 3: the CLI parses and wires).
//
// Sweep executors (`RunExecutor`, plugged into LocusRecipes' `SweepRunner` by method kind):
//   ITIExecutor (iti), PreferenceExecutor (ipo, dpo), ScrubExecutor (scrub), AblateExecutor
//   (ablate), LocalizationExecutor (hase, interchange: one fact per run), FakeExecutor (tests).
// Shared pieces: TruthfulQARunEvaluator (MC, generation, CE/KL of an edit), EditSession and
//   EditConfiguration (ROME / FT-L with cached key statistics), ScrubTask, noiseUnit.
// Reports: LocalizationReport, a ReportSectionProvider for `ReportWriter`.
//
// Layering: above every method target (Probing, Steering, Evaluation, Tracing, Editing,
// Scrubbing) and LocusRecipes; nothing but the CLI (and programs) depends on it.
