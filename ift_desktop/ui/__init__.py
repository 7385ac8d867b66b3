"""The Qt layer of IFT Desktop: thin views over ``ift_desktop.core``."""
