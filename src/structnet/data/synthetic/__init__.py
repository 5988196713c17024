"""The embedded default world: procedural and captured motion, rendering, the build."""
