"""The networks: our Ops, layers, StructNet, DconvMP-HML, the costs, inference over a pose set."""
