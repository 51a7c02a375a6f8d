"""``eidos validate``: requirements and checks evaluated against snapshots, as verdicts.

``verdicts`` holds the data (one ``Verdict`` per rule and node, and the rules that decide
the exit code); ``plan`` turns a resolved recipe (or a recipe document) plus the rule
base's checks into compiled rules; ``evaluate`` runs them against one snapshot; ``fleet``
runs many snapshots, sharing plans and closures; ``reports`` renders the result. Nothing
here touches the terminal or the file system except ``recipe_input`` (reading a recipe
document) and the report writers' callers.
"""
