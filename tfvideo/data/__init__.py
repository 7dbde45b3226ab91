"""Datasets behind one contract (`registry.DataSource`): SM-MNIST, BAIR, KTH, Human3.6M, TFDS moving_mnist, and
folders of the user's own videos (`registry.get_data_source`)."""
