"""Training: the loop, checkpoints, tf.distribute, the learning-rate schedule and TensorBoard summaries."""
