"""Video plumbing shared by the Live and Unlock features: the frame loop and the source picker."""
