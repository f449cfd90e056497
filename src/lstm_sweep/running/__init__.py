"""Running a sweep: work units (:mod:`.units`), their cost (:mod:`.cost`, probed by
:mod:`.calibration`), request -> plan -> execute (:mod:`.sweep`), and where units run
(:mod:`.executors`: in this process, local worker processes, a Ray cluster). The layer that
joins training and the store; only the CLI and the public API import it."""
