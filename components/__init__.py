"""brickwall components: typed specs, pure planners and the ComponentResources built from them."""
