"""Off-chain storage of encrypted data: a content-addressed blob store on the local file system."""

from datagora.storage.blobstore import BlobStore, is_blob_address

__all__ = ["BlobStore", "is_blob_address"]
