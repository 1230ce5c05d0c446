pub use instrunet_model as model;
