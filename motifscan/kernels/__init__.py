"""The filter bank's maths, CPU and GPU, each equal to the plain computation it replaces."""
