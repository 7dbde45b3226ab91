"""Datasets: MNIST digits and Stochastic Moving MNIST video generation."""
