"""The reference-architecture review of a synthesized cloud assembly: diagram, inventory,
security, the Well-Architected ML Lens table and cost, rendered as HTML and Markdown
(``report.build``/``report.write``). The command line is ``labctl/review.py``."""
