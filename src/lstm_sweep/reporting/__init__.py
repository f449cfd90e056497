"""Reporting: stored results into tables (:mod:`.tables`, laid out on any two
:mod:`.axes`), findings (:mod:`.findings`), figures (:mod:`.plots`), the HTML report
(:mod:`.html`), exports (:mod:`.export`), and files written safely (:mod:`.outputs`). Compute,
then render. Never imports torch, training or running: a report starts fast and runs anywhere
the store can be read."""
